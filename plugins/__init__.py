"""omibench's built-in translators, installed as ``omibench_plugins`` and found through the
``omibench`` entry-point group exactly as a third-party plugin package would be."""
