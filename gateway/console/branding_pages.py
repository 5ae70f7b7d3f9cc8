"""Console pages: pass images, the live pass preview and the progress of pass updates."""
