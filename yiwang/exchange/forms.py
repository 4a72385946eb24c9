"""The import page's form: a file and how to treat its bad rows."""

from __future__ import annotations

from django import forms

from .models import ImportRun


class ImportForm(forms.Form):
    file = forms.FileField(label="文件（.xlsx 或 .csv）", widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.csv"}),
                           error_messages={"required": "请选择要导入的文件", "empty": "文件是空的"})
    mode = forms.ChoiceField(label="导入方式", choices=ImportRun.Mode.choices, initial=ImportRun.Mode.VALID_ROWS,
                             widget=forms.RadioSelect)
