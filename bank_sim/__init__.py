"""The simulated bank: the stand-in for a core-banking system (landing files and HTTP API)."""
