"""The planned analysis: the claims' endpoints, their intervals, tests and power,
computed once (`claims.analyse`) for report.md, claims.csv and the cross-study summary."""
