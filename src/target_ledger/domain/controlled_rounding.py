"""Controlled rounding of a two-way table: every cell, row, column and total rounded, still adding up."""

from collections.abc import Sequence
from fractions import Fraction
from math import ceil, floor

import networkx as nx

from target_ledger.domain.errors import DomainError

MAX_CELLS = 10_000  # a matrix written or read: a year of weeks for 180 people; beyond, the rounding takes seconds
SCALE = 1 << 20  # costs must be integers for the network simplex: fractions scaled, ties broken by order


class RoundingError(DomainError):
    pass


def controlled_round(table: Sequence[Sequence[Fraction]]) -> list[list[int]]:
    """Round every cell of `table` (whole units) to its floor or ceiling so that each row sum,
    each column sum and the grand total are the floor or the ceiling of their exact sums (the
    exact one when it is whole): Cox & Ernst (1982), as a flow. Source → row i carries the row's
    sum within [⌊R_i⌋, ⌈R_i⌉], row i → column j the cell within [⌊x_ij⌋, ⌈x_ij⌉], column j → sink
    its sum within [⌊C_j⌋, ⌈C_j⌉], sink → source the total within [⌊T⌋, ⌈T⌉]. The exact table is a
    feasible flow of that network, and a network with whole bounds that has a feasible flow has a
    whole one; of those, the cheapest is the closest to the exact table (a unit above the floor
    of a value with fraction f costs 1 - 2f: rounding up what lies nearer its ceiling pays)."""
    rows, width = len(table), len(table[0]) if table else 0
    if any(len(row) != width for row in table):
        raise RoundingError("every row of the table has as many cells", field="cells")
    if any(cell < 0 for row in table for cell in row):
        raise RoundingError("a cell of the table is negative", field="cells")
    row_sums = [sum(row, Fraction(0)) for row in table]
    column_sums = [sum((row[j] for row in table), Fraction(0)) for j in range(width)]
    graph, demand = nx.DiGraph(), dict[object, int]({"source": 0, "sink": 0})
    demand.update({("row", i): 0 for i in range(rows)} | {("column", j): 0 for j in range(width)})

    def bounded(u: object, v: object, exact: Fraction) -> None:
        low = floor(exact)
        demand[u] += low  # the lower bound is sent for sure: only the rest is left to the flow
        demand[v] -= low
        if ceil(exact) > low:
            graph.add_edge(u, v, capacity=1, weight=round((1 - 2 * (exact - low)) * SCALE))

    for i, exact in enumerate(row_sums):
        bounded("source", ("row", i), exact)
    for i, row in enumerate(table):
        for j, cell in enumerate(row):
            bounded(("row", i), ("column", j), cell)
    for j, exact in enumerate(column_sums):
        bounded(("column", j), "sink", exact)
    bounded("sink", "source", sum(row_sums, Fraction(0)))
    for node, need in demand.items():
        graph.add_node(node, demand=need)
    try:
        _, flow = nx.network_simplex(graph)
    except nx.NetworkXUnfeasible:  # cannot happen for a table of non-negative numbers: the exact one is a flow
        raise RoundingError("the table has no controlled rounding", field="cells") from None
    return [
        [floor(cell) + flow.get(("row", i), {}).get(("column", j), 0) for j, cell in enumerate(row)]
        for i, row in enumerate(table)
    ]


def proportional(rows: Sequence[int], columns: Sequence[int]) -> list[list[Fraction]]:
    """The cells of a matrix whose margins are given (whole units, both summing to the same total):
    each cell is its row's share times its column's share of the total."""
    total = sum(rows)
    if total != sum(columns):
        raise RoundingError(f"the rows sum to {sum(rows)} and the columns to {sum(columns)}", field="margins")
    if total == 0:
        return [[Fraction(0)] * len(columns) for _ in rows]
    return [[Fraction(r * c, total) for c in columns] for r in rows]
