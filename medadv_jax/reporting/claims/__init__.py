"""The claims under the analysis plan, computed once (`analysis.analyse`) for
report.md, claims.csv and the cross-study summary."""
