"""Forms of the auth blueprint."""

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from .. import people


class LoginForm(FlaskForm):
    """E-mail and password; which one is wrong is never revealed."""

    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])


class SetPasswordForm(FlaskForm):
    """Choose a password (from an invitation or a reset link, or to change it).

    The shortest password allowed depends on the role: pass it as `role`.
    """

    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=200)])
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[DataRequired(), EqualTo("password", _l("The passwords differ."))],
    )

    def __init__(self, *args, role: str = "customer", **kwargs):
        super().__init__(*args, **kwargs)
        self.min_length = people.min_password(role)

    def validate_password(self, field) -> None:
        if len(field.data or "") < self.min_length:
            raise ValidationError(_("Use at least %(num)d characters.", num=self.min_length))


class ChangePasswordForm(SetPasswordForm):
    """Change one's own password: the current one first."""

    current = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=200)])


class ResetRequestForm(FlaskForm):
    """Ask for a password reset link by e-mail."""

    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
