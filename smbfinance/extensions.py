"""Flask extensions, created unbound here and bound to the app in create_app()."""

from __future__ import annotations

from celery import Celery
from flask_cors import CORS
from flask_jwt_extended import JWTManager
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy

from smbfinance.db import Base

db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
migrate = Migrate()
jwt = JWTManager()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
cors = CORS()
# The task base class is named here, not only in init_celery(): a task evaluated before
# the app exists (an import that touches it) would otherwise lose the app context and
# the tenant scope for good.
celery = Celery("smbfinance", task_cls="smbfinance.worker:AppTask")
