"""The zero-credential demo: a simulated organization on moto's server (``simulate``), and the
whole pipeline run against it (``run``)."""
