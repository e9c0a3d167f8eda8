-- Question: Customers per activity level and favourite category (latest month)
-- Chart: stacked bar; x = activity_level, one stack segment per MostWatch, y = customers
-- Table: customer_segments
SELECT
  activity_level,
  MostWatch,
  customers,
  share
FROM customer_segments
WHERE month = (SELECT MAX(month) FROM customer_segments)
ORDER BY FIELD(activity_level, 'Low', 'Medium', 'High'), customers DESC
