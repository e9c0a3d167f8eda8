-- Question: Contracts at risk per month, by kind of reason
-- Chart: stacked bar; x = month, one stack segment per reason_kind, y = contracts
-- Table: churn_risk ('silent' = silent for the last 7 days, 'drop' = week-over-week drop)
SELECT
  month,
  reason_kind,
  COUNT(*) AS contracts,
  AVG(score) AS mean_score
FROM (
  SELECT
    month,
    CASE WHEN reason LIKE 'silent%' THEN 'silent' ELSE 'drop' END AS reason_kind,
    score
  FROM churn_risk
) AS risk
GROUP BY month, reason_kind
ORDER BY month, reason_kind
