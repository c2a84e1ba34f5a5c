"""When AWS Lambda deprecates each managed runtime: the table deprecated_lambda_runtimes reads.

Source: the AWS Lambda Developer Guide, "Lambda runtimes" (docs.aws.amazon.com/lambda/latest/dg/
lambda-runtimes.html), the "Deprecation date" column of its supported and deprecated runtime
tables, as published on the date below. AWS moves dates now and then (python3.9 moved from
2025-10-31 to 2025-12-15): a release of this package updates the table, and a check's ``as_of``
option looks ahead with the dates as they stand.
"""
from __future__ import annotations

import datetime as dt

#: When the table was last read from the source.
RETRIEVED = dt.date(2025, 11, 1)
SOURCE = "AWS Lambda Developer Guide, Lambda runtimes (docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html)"

_D = dt.date
#: Runtime identifier -> the day Lambda deprecates (deprecated) it.
DEPRECATION: dict[str, dt.date] = {
    # Deprecation announced, in the future when the table was read.
    "nodejs22.x": _D(2027, 4, 30),
    "nodejs20.x": _D(2026, 4, 30),
    "python3.13": _D(2029, 6, 30),
    "python3.12": _D(2028, 10, 31),
    "python3.11": _D(2026, 6, 30),
    "python3.10": _D(2026, 6, 30),
    "java21": _D(2029, 6, 30),
    "java17": _D(2026, 6, 30),
    "java11": _D(2026, 6, 30),
    "java8.al2": _D(2026, 6, 30),
    "dotnet8": _D(2026, 11, 10),
    "ruby3.3": _D(2027, 3, 31),
    "ruby3.2": _D(2026, 3, 31),
    "provided.al2023": _D(2029, 6, 30),
    "provided.al2": _D(2026, 6, 30),
    # Deprecated already.
    "python3.9": _D(2025, 12, 15),
    "nodejs18.x": _D(2025, 9, 1),
    "dotnet6": _D(2024, 11, 12),
    "python3.8": _D(2024, 10, 14),
    "nodejs16.x": _D(2024, 6, 12),
    "dotnet7": _D(2024, 5, 14),
    "java8": _D(2024, 1, 8),
    "go1.x": _D(2024, 1, 8),
    "provided": _D(2024, 1, 8),
    "nodejs14.x": _D(2023, 12, 4),
    "python3.7": _D(2023, 12, 4),
    "ruby2.7": _D(2023, 11, 27),
    "dotnetcore3.1": _D(2023, 4, 3),
    "nodejs12.x": _D(2023, 3, 31),
    "python3.6": _D(2022, 7, 18),
    "dotnet5.0": _D(2022, 5, 10),
    "dotnetcore2.1": _D(2022, 1, 5),
    "nodejs10.x": _D(2021, 7, 30),
    "ruby2.5": _D(2021, 7, 30),
    "python2.7": _D(2021, 7, 15),
    "nodejs8.10": _D(2020, 3, 6),
    "nodejs4.3": _D(2020, 3, 5),
    "nodejs4.3-edge": _D(2020, 3, 5),
    "nodejs6.10": _D(2019, 8, 12),
    "dotnetcore1.0": _D(2019, 7, 27),
    "dotnetcore2.0": _D(2019, 5, 30),
    "nodejs": _D(2016, 10, 31),
}
