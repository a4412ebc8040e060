"""Jobs the benchmarks run: as cheap as possible, so tickwork's own cost is what is measured."""


def noop() -> None:
    return None
