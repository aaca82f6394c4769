"""A fixed pure-Python CPU-bound workload (~2 s): a 30-deep call chain
doing arithmetic and dict work at its leaf."""


def leaf(n):
    d = {}
    total = 0
    for i in range(n):
        d[i & 255] = i
        total += d.get((i * 7) & 255, 0)
    return total


def chain(depth, n):
    if depth == 0:
        return leaf(n)
    return chain(depth - 1, n)


if __name__ == "__main__":
    for _ in range(400):
        chain(28, 60000)
