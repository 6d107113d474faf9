"""Everything people read: the terminal leaderboard, the MLflow page, the HTML / Markdown report."""
