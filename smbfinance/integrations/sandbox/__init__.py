"""Local simulators of Ponto Connect and Yuki, started on loopback by our own code."""
