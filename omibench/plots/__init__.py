"""Pictures as PNG files (arrays in, a file out); nothing here reads a store."""
