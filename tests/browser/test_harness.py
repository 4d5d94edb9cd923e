from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def test_axe_fails_a_page_with_violations(page, axe):
    page.set_content('<html><body><main><input type="text"><img src="x.png"></main></body></html>')
    with pytest.raises(pytest.fail.Exception) as failure:
        axe(page, "a page made to fail")
    report = str(failure.value)
    assert "label" in report and "image-alt" in report and "a page made to fail" in report
