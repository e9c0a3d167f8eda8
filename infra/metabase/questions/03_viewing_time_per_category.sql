-- Question: Viewing time per category (latest month)
-- Chart: bar; x = category, y = hours
-- Table: content_engagement
SELECT
  category,
  total_seconds / 3600 AS hours,
  viewers
FROM content_engagement
WHERE month = (SELECT MAX(month) FROM content_engagement)
ORDER BY total_seconds DESC
