

def test_a_name_search_becomes_the_masked_names_it_can_match() -> None:
    from flexunion.membership.service import masked_forms

    assert masked_forms("张**") == ["张**"]
    assert masked_forms("张*") == ["张*"]
    assert masked_forms("张三") == ["张*"]
    assert masked_forms("欧阳娜娜") == ["欧***"]
    assert masked_forms(" 张 ") == [f"张{'*' * k}" for k in range(1, 10)]
    assert masked_forms("") == []
