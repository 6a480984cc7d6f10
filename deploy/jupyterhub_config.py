"""JupyterHub for a class of this course, on one machine (`make hub`; `deploy/hub.py setup` wrote the state it reads).

Everything the hub needs is in ``$COURSE_HUB_CONFIG`` (``<state>/hub/hub.json``): roster, instructor, exchange,
ports, the shared dataset cache. Read top to bottom:

- authentication: NativeAuthenticator (passwords, hashed with bcrypt; sign-up closed: the roster's accounts are
  made by ``setup``). LTI 1.3 (launch from Canvas or Moodle) and OAuth are a few lines below, commented out.
- spawner: one server per user, as that user's own OS account (LocalProcessSpawner), from the course's shared
  environment. Students get the learner view (no Formgrader, Create Assignment or Course List); the instructor's
  server starts in the course directory with the whole of nbgrader.
- the idle culler stops servers idle for ``cull_timeout`` seconds (and each server stops idle kernels).
"""

import json
import os
import pwd

from jupyterhub.spawner import LocalProcessSpawner
from nativeauthenticator import NativeAuthenticator
from nativeauthenticator.handlers import LoginHandler as NativeLoginHandler
from nativeauthenticator.orm import UserInfo

c = get_config()  # noqa: F821  (provided by JupyterHub)

conf = json.load(open(os.environ["COURSE_HUB_CONFIG"]))
state = conf["state"]
private = os.path.join(state, "hub")
venv_bin = os.path.join(conf["venv"], "bin")
instructor = conf["instructor"]
students = [s["id"] for s in conf["students"]]

# ---------------------------------------------------------------- network, state
c.JupyterHub.bind_url = f"http://{conf['ip']}:{conf['port']}"
c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{conf['hub_port']}"
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{conf['proxy_api_port']}"
c.ConfigurableHTTPProxy.command = [conf["chp"]]
c.ConfigurableHTTPProxy.pid_file = os.path.join(private, "jupyterhub-proxy.pid")
c.JupyterHub.db_url = "sqlite:///" + os.path.join(private, "jupyterhub.sqlite")
c.JupyterHub.cookie_secret_file = os.path.join(private, "jupyterhub_cookie_secret")
c.JupyterHub.cleanup_servers = True  # stopping the hub stops every user's server
c.JupyterHub.cleanup_proxy = True


# ---------------------------------------------------------------- authentication
class _NoStats:
    """JupyterHub 6 dropped its statsd client; NativeAuthenticator 1.3.0's login form still times logins with it."""

    def timer(self, *args, **kwargs):
        return self

    def start(self):
        return self

    def stop(self, *args, **kwargs):
        pass


class _LoginHandler(NativeLoginHandler):
    statsd = _NoStats()


class CourseAuthenticator(NativeAuthenticator):
    """NativeAuthenticator whose accounts are the roster's: ``setup`` wrote their bcrypt hashes to accounts.json."""

    def get_handlers(self, app):
        return [(url, _LoginHandler if handler is NativeLoginHandler else handler)
                for url, handler in super().get_handlers(app)]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        with open(conf["accounts"]) as f:
            accounts = json.load(f)
        for username, hashed in accounts.items():
            if UserInfo.find(self.db, username) is None:
                self.db.add(UserInfo(username=username, password=hashed.encode(), is_authorized=True))
        self.db.commit()


c.JupyterHub.authenticator_class = CourseAuthenticator
c.NativeAuthenticator.enable_signup = False  # no self sign-up: the roster decides who has an account
c.NativeAuthenticator.check_common_password = True
c.NativeAuthenticator.minimum_password_length = 10
c.Authenticator.allowed_users = set(students) | {instructor}
c.Authenticator.admin_users = {instructor}

# LTI 1.3 (launch from an LMS; `pip install jupyterhub-ltiauthenticator`, register the hub as an LTI tool):
#   c.JupyterHub.authenticator_class = "ltiauthenticator.lti13.authenticator.LTI13Authenticator"
#   c.LTI13Authenticator.issuer = "https://canvas.instructure.com"          # your LMS's issuer
#   c.LTI13Authenticator.client_id = ["<client id from the LMS>"]
#   c.LTI13Authenticator.authorize_url = "https://<lms>/api/lti/authorize_redirect"
#   c.LTI13Authenticator.jwks_endpoint = "https://<lms>/api/lti/security/jwks"
#   c.LTI13Authenticator.username_key = "email"   # which launch claim becomes the login (must match the roster ids)
# OAuth (`pip install oauthenticator`), e.g. GitHub or any OpenID Connect provider:
#   c.JupyterHub.authenticator_class = "generic-oauth"
#   c.GenericOAuthenticator.client_id / client_secret / oauth_callback_url / authorize_url / token_url / userdata_url
# Either way keep `allowed_users` (or the provider's groups) to the roster, and the OS users that `setup` creates.

# ---------------------------------------------------------------- spawner: each user's own server
class CourseSpawner(LocalProcessSpawner):
    """A local server as the user's own OS account; the instructor's starts *in* the course directory, so that
    nbgrader (formgrader included) reads the course's nbgrader_config.py from its working folder."""

    def make_preexec_fn(self, name):
        become_user = super().make_preexec_fn(name)
        workdir = conf["course_dir"] if name == instructor else None

        def preexec():
            become_user()  # drops to the user and enters the home
            if workdir:
                os.chdir(workdir)
        return preexec


c.JupyterHub.spawner_class = CourseSpawner
c.Spawner.cmd = [os.path.join(venv_bin, "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 180
c.Spawner.http_timeout = 180
# the server stops kernels idle for 30 minutes (the culler below stops whole servers)
c.Spawner.args = ["--MappingKernelManager.cull_idle_timeout=1800", "--MappingKernelManager.cull_interval=300",
                  "--ServerApp.terminals_enabled=True"]
# Resource guidance for one student (server + lesson kernel), measured by tests/test_hub.py: see
# deploy/kubernetes/README.md. LocalProcessSpawner does not enforce limits; KubeSpawner does.
c.Spawner.mem_guarantee = "1.5G"  # measured peak: 1.4 GiB (lesson 2)
c.Spawner.mem_limit = "3G"


def _environment(spawner):
    name = spawner.user.name
    home = pwd.getpwnam(name).pw_dir
    env = {
        "PATH": f"{venv_bin}:/usr/local/bin:/usr/bin:/bin",
        "NBGRADER_COURSE_ID": conf["course_id"],
        "NBGRADER_EXCHANGE_ROOT": conf["exchange"],
        "COURSE_LIB_CACHE": conf["cache"],  # the datasets, built once and shared read-only
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
    }
    if name == instructor:
        env["JUPYTER_CONFIG_PATH"] = os.path.join(state, "etc", "instructor")
    else:
        # the learner view: nbgrader's student config, then the learner mode `make lab` uses too
        env["JUPYTER_CONFIG_PATH"] = os.pathsep.join([os.path.join(state, "etc", "student"),
                                                      os.path.join(state, "etc", "learner")])
        env["COURSE_QUIZ_PROGRESS"] = os.path.join(home, ".quiz_progress.json")  # quiz progress in the home
    return env, home


def pre_spawn(spawner):
    env, home = _environment(spawner)
    spawner.environment.update(env)
    spawner.notebook_dir = conf["course_dir"] if spawner.user.name == instructor else home


c.Spawner.pre_spawn_hook = pre_spawn

# ---------------------------------------------------------------- services: idle culler, the course's admin token
c.JupyterHub.services = [
    {"name": "idle-culler",
     "command": [os.path.join(venv_bin, "python"), "-m", "jupyterhub_idle_culler",
                 f"--timeout={conf.get('cull_timeout', 3600)}", "--cull-every=300"]},
    # for scripts run by root on this machine (tests, roster updates): never give it to a student
    {"name": "course-admin", "api_token": conf["admin_token"]},
]
c.JupyterHub.load_roles = [
    {"name": "idle-culler", "services": ["idle-culler"],
     "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"]},
    {"name": "course-admin", "services": ["course-admin"],
     "scopes": ["admin:users", "admin:servers", "access:servers", "list:users", "read:users"]},
]
