import pytest

from annotated import MultiHeadedAttention, attention, show, source


def test_source_is_the_real_code():
    src = source(attention)
    assert repr(src).startswith("def attention(")
    assert "softmax" in repr(src)
    assert "<span" in src._repr_html_()


def test_show_prints_plain_text_outside_a_notebook(capsys):
    show(MultiHeadedAttention)
    out = capsys.readouterr().out
    assert out.startswith("class MultiHeadedAttention(nn.Module):")


def test_show_refuses_builtins():
    with pytest.raises(TypeError, match="cannot show"):
        source(len)
