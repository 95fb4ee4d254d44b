"""Group rules: rule books, matching, decisions and enforcement."""
