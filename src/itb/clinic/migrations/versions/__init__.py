"""The revisions, one file each, oldest first by their numbers."""
