-- Question: Daily viewing per category
-- Chart: line; x = date, one line per category, y = hours
-- Table: viewing_trends
SELECT
  date,
  category,
  total_seconds / 3600 AS hours,
  viewers
FROM viewing_trends
ORDER BY date, category
