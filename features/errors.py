"""The one error base of the product: what a user gave that cannot be used, said in English and Chinese.

Every job refuses bad input by raising a `CreditgradeError` (or one of its kinds, declared beside the
code that raises it), carrying the message in both languages and a machine code. The command line
has one handler for it (exit code 2, both texts), the service one (a 4xx with both texts and the
code); anything else is a bug and keeps its traceback. It lives in the lowest layer so that every
layer can raise it.

>>> e = NotFound("no graded enterprise has USCC X", "未找到统一社会信用代码为 X 的已分级企业")
>>> e.status, e.code, str(e)
(404, 'not_found', 'no graded enterprise has USCC X')
>>> e.to_dict()["error_zh"]
'未找到统一社会信用代码为 X 的已分级企业'
"""

from __future__ import annotations

from http import HTTPStatus


class CreditgradeError(Exception):
    """Input or state the product cannot work with; `en` and `zh` say what and, where it helps, what to do."""

    code: str = "invalid_input"  # machine-readable kind, stable across releases
    status: int = int(HTTPStatus.BAD_REQUEST)  # what the service answers with

    def __init__(self, en: str, zh: str, *, code: str | None = None):
        if not en or not zh:
            raise TypeError("a CreditgradeError needs its message in both English and Chinese")
        super().__init__(en)
        self.en, self.zh = en, zh
        if code is not None:
            self.code = code

    def to_dict(self) -> dict[str, str]:
        """The body the service answers with."""
        return {"error": self.en, "error_zh": self.zh, "code": self.code}

    def __reduce__(self):  # keep both texts when the error crosses a process boundary
        return (_rebuild, (type(self), self.en, self.zh, self.code))


def _rebuild(cls, en: str, zh: str, code: str) -> CreditgradeError:
    error = cls.__new__(cls)
    CreditgradeError.__init__(error, en, zh, code=code)
    return error


class NotFound(CreditgradeError):
    """A file, folder, enterprise or registered model asked for does not exist."""

    code = "not_found"
    status = int(HTTPStatus.NOT_FOUND)


class OutputExists(CreditgradeError, FileExistsError):
    """An output folder already holds a result and replacing it was not asked for."""

    code = "output_exists"
    status = int(HTTPStatus.CONFLICT)


class TooLarge(CreditgradeError):
    """A request asks for more than one call may."""

    code = "too_large"
    status = int(HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
