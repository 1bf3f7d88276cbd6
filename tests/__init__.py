"""The test suite; its folders mirror the packages they test (tests/annotations, tests/inference, ...)."""
