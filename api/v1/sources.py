"""Sources: the seed documents (read-only over HTTP)."""

from api.resources import SOURCES
from api.v1.collections import Collection

COLLECTION = Collection(SOURCES, search=("title", "alternate_headline"))
