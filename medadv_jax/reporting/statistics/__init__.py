"""Statistics on plain arrays: t-intervals, TOST, Page's L, Holm, power by
simulation, and the descriptive paired differences."""
