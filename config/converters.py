"""URL converters: `<id:…>` is a row id any database can hold, so a hand-edited URL with a longer number is a 404, not a 500."""


class RowIdConverter:
    # 18 digits stay below 2**63 - 1, the largest id PostgreSQL's bigint and SQLite's INTEGER hold;
    # Django's <int:> lets any length through, and the database then fails on it.
    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value) -> str:
        return str(value)
