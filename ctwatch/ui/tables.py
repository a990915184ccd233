"""Row-key diffing for DataTables: change only what differs, keep the cursor on its row."""

from __future__ import annotations

from typing import Callable, Optional

from textual.widgets import DataTable


def cursor_key(table: DataTable) -> Optional[str]:
    if table.row_count == 0:
        return None
    try:
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
    except Exception:  # a cursor beyond the rows (table just shrank)
        return None


def sync_rows(
    table: DataTable,
    columns: tuple,
    rows: list,
    sort_columns: tuple = (),
    sort_key: Optional[Callable] = None,
    reverse: bool = False,
    order: object = None,
) -> None:
    """Show `rows` ([(row key, [cells in `columns` order])]) in `table`.

    Rows gone are removed, new ones added, changed cells updated one by one; then the
    table is sorted on the cells' own sort keys (never on their rendered text) and the
    cursor put back on the row it was on. Call inside `app.batch_update()`. `order`
    names the sort in use: a new one re-sorts even when no cell changed.
    """
    keep = cursor_key(table)
    wanted = {key for key, _ in rows}
    changed = getattr(table, "_synced_order", None) != order
    table._synced_order = order
    for row_key in [k for k in table.rows if k.value not in wanted]:
        table.remove_row(row_key)
        changed = True
    for key, cells in rows:
        if key in table.rows:
            current = table.get_row(key)
            for column, new, old in zip(columns, cells, current):
                if new != old:
                    table.update_cell(key, column, new)
                    changed = True
        else:
            table.add_row(*cells, key=key)
            changed = True
    if not changed:
        return  # same rows, same order: nothing to redraw
    if sort_columns and table.row_count:
        table.sort(*sort_columns, key=sort_key, reverse=reverse)
    if keep is not None and keep in table.rows:
        index = table.get_row_index(keep)
        if index != table.cursor_row:
            table.move_cursor(row=index, animate=False)
