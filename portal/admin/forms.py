"""Back-office forms shared by several pages (each area may add its own module)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, SelectField
from wtforms.fields.choices import SelectChoice


class UploadForm(FlaskForm):
    """Upload a CSV file to preview."""

    kind = SelectField(
        _l("What the file holds"),
        choices=[
            SelectChoice("accounts", _l("Accounts (create or update)")),
            SelectChoice("invoices", _l("Invoices (status, payment link, observation)")),
        ],
    )
    file = FileField(_l("CSV file"), validators=[FileRequired(_l("Choose a file."))])


class ApplyImportForm(FlaskForm):
    """Confirm applying a previewed file."""

    only_valid = BooleanField(_l("Apply only the valid rows (skip the rejected ones)"))
