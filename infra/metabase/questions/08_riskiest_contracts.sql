-- Question: The 100 contracts most at risk of leaving, with their reasons (latest month)
-- Chart: table
-- Table: churn_risk (score 1.0 = silent for the month's last 7 days; 0.5 to 1.0 = the
-- steepest week-over-week drop)
SELECT
  Contract,
  score,
  reason,
  active_days,
  first_half_days,
  last_days_active
FROM churn_risk
WHERE month = (SELECT MAX(month) FROM churn_risk)
ORDER BY score DESC, Contract
LIMIT 100
