pytest_plugins = ["tests.pageserver"]
