"""Customer Credit portal: the application factory."""

import os

from flask import Flask

from .config import Defaults, database_url, load_secret_key


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app: defaults, then instance/config.py, then environment, then test_config."""
    # PORTAL_INSTANCE_PATH puts instance/ (SQLite file, secret key, demo logins) elsewhere.
    instance = (test_config or {}).get("INSTANCE_PATH") or os.environ.get("PORTAL_INSTANCE_PATH")
    app = Flask(
        __name__,
        instance_path=os.path.abspath(instance) if instance else None,
        instance_relative_config=True,
        template_folder="../templates",
        static_folder="../static",
    )
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.from_object(Defaults)
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("PORTAL")
    if test_config:
        app.config.update(test_config)
    app.config.setdefault("SQLALCHEMY_DATABASE_URI", database_url(app.instance_path))
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = load_secret_key(app.instance_path)

    from .people import check_password_hash_method

    check_password_hash_method(app.config["PASSWORD_HASH_METHOD"])
    register_extensions(app)
    register_blueprints(app)
    register_commands(app)
    return app


def register_extensions(app: Flask) -> None:
    """Bind the extensions created in extensions.py to this app."""
    from . import database, i18n, security
    from .extensions import csrf, db, login_manager, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(__file__), "migrations"))
    csrf.init_app(app)
    login_manager.init_app(app)
    i18n.init_app(app)
    security.init_app(app)
    with app.app_context():
        database.configure_engine(db.engine)


def register_blueprints(app: Flask) -> None:
    """Attach each area of the portal."""
    from .auth import bp as auth_bp

    app.register_blueprint(auth_bp)
    from .admin import bp as admin_bp

    app.register_blueprint(admin_bp)
    from .mycredits import bp as mycredits_bp

    app.register_blueprint(mycredits_bp)
    from .checkout import bp as checkout_bp

    app.register_blueprint(checkout_bp)
    from .store import bp as store_bp

    app.register_blueprint(store_bp)
    from .api import bp as api_bp
    from .extensions import csrf

    app.register_blueprint(api_bp)
    csrf.exempt(api_bp)  # API keys, not cookies, authenticate the JSON API
    from .ppp import bp as ppp_bp

    app.register_blueprint(ppp_bp)
    csrf.exempt(ppp_bp)  # the checkout authenticates with API keys, not cookies
    from .errors import register_errorhandlers

    register_errorhandlers(app)


def register_commands(app: Flask) -> None:
    """Add the `flask` CLI groups."""
    from .cli import register

    register(app)
