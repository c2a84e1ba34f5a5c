"""Talking to AWS: one botocore session shared by every thread, its cached clients, the roles
assumed in member accounts (``clients``), and botocore's per-client costs paid once per service
(``botocore_patch``). Everything that calls AWS gets its clients here; this package imports no
other part of aws-collector."""
