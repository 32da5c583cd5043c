"""`make bench`: Parley's performance, as ratios of baselines measured in the same run.

Run it with ``python -m tests.bench`` (``--help`` lists the options). One run

1. builds the databases it needs with ``parley synth`` and keeps them, keyed by
   a hash of everything that decides their content (``data``);
2. measures the CSV export from the command line against a raw driver loop, the
   database's own CSV writer and the peak memory of the exporting process
   (``export``, ``memory``);
3. serves Parley and a bare Flask app under the same gunicorn settings, and
   Datasette on the same SQLite file (``servers``), and loads them from another
   process, wrk or a Python fallback (``load``, ``loadgen``);
4. times a deep keyset page against the first one (``paging``);
5. makes figures of the measurements, each a ratio of two of them (``figures``),
   prints one table of them against the targets and writes ``results.json``
   (``report``), exiting non-zero when a target is missed.

Every module has one job; ``run`` puts them together.
"""
