"""The one device and sharding layer used by training and by the attacks."""
