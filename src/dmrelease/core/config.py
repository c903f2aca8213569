"""The configuration model: every option declared once, validated once (STYLE.md habit 11).

Each option is a field of :class:`Config` (a setting) or of :class:`RequestOptions` (what
one run is asked: products, refs, tags) whose metadata names its ``dm-release.toml`` key,
its environment variables (the Jenkins parameter names) and its help; the CLI builds its
flags from the same declaration. Precedence is default < file < environment < flag; among
an option's environment variables the first one set (not empty) wins, so ``refs`` reads
``REFS``, else ``SOURCE_GIT_REFS``, else ``GIT_REFS``.
Secrets come only from the environment, are never accepted from the file and never printed.
Pure: the adapter hands in the file text, the environment and the flags.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# SECRETS and CREDENTIAL_VARIABLES are declared with the redaction: a hook redacts its
# output with them and must not load this model to do so (start-up, issue 10)
from dmrelease.core.redact import CREDENTIAL_VARIABLES as CREDENTIAL_VARIABLES
from dmrelease.core.redact import SECRETS as SECRETS
from dmrelease.core.requests import BuildRequest, RefList

__all__ = [
    "AUXILIARY_HELP",
    "AUXILIARY_KEYS",
    "CREDENTIAL_VARIABLES",
    "FLAVORS",
    "LIBRARY_HELP",
    "LIBRARY_KEYS",
    "PRODUCT_HELP",
    "PRODUCT_KEYS",
    "SECRETS",
    "SECRET_HELP",
    "AuxiliaryConfig",
    "Config",
    "K",
    "Kind",
    "LibraryConfig",
    "Loaded",
    "OptionSpec",
    "ProductConfig",
    "RequestOptions",
    "Secret",
    "options",
    "request_options",
    "setting_options",
]

FLAVORS = ("Linux64", "Linux", "DarwinX86", "Darwin")


class Kind(enum.StrEnum):
    TEXT = "text"
    INT = "int"
    BOOL = "bool"
    LIST = "list"
    PATH = "path"


@dataclass(frozen=True)
class OptionSpec:
    """Where an option comes from: TOML ``key`` (``section.name``), environment, flag.

    ``env`` is in precedence order: the first variable that is set and not empty wins (an
    empty Jenkins parameter counts as unset).
    """

    key: str | None
    env: tuple[str, ...]
    flag: str | None
    help: str
    kind: Kind
    metavar: str | None = None


def _option(
    default: Any,
    kind: Kind,
    help: str,
    *,
    key: str | None = None,
    env: tuple[str, ...] = (),
    flag: str | None = None,
    metavar: str | None = None,
) -> Any:
    spec = OptionSpec(key, env, flag, help, kind, metavar)
    return field(default=default, metadata={"option": spec})


@dataclass(frozen=True)
class Secret:
    """A credential from the environment; ``str()`` and ``repr()`` never show it."""

    value: str = field(repr=False)

    def __str__(self) -> str:
        return "****"


@dataclass(frozen=True)
class ProductConfig:
    """One ``[products.<metapackage>]`` table of dm-release.toml.

    ``external``: ``--external`` dependencies, not packages of the product (never fetched
    nor built). ``external_repos``: packages of the product whose repositories are external
    forks, so that a final also tags them ``vM.n.p`` (DESIGN.md §3). A name is in one at most.
    ``libraries``: the ``[libraries.<name>]`` this product depends on: their packages come
    from the library's release on the binary server, never cloned nor built here.
    """

    name: str
    repos: Path
    release_branch: str = "v{major}.{minor}.x"
    external: tuple[str, ...] = ()
    external_repos: tuple[str, ...] = ()
    libraries: tuple[str, ...] = ()
    demo: str | None = None


@dataclass(frozen=True)
class LibraryConfig:
    """One ``[libraries.<metapackage>]`` table: a library product released on its own
    (DMTN-106 §2.1), used by products at its EUPS ``tag`` from the binary ``server``
    (None: ``servers.binary``)."""

    name: str
    tag: str
    server: str | None = None


@dataclass(frozen=True)
class AuxiliaryConfig:
    """One ``[auxiliary.<name>]`` table: a repository that is not in the product but
    carries its releases (documentation, environment definitions, the installer, test
    data; DMTN-106 §4.5). ``url``: its git URL or the absolute path of a repository;
    ``ref``: the branch tagged when no ref of the session's list exists in it (None: the
    repository's default branch); ``products``: the products whose releases it carries
    (empty: every configured product)."""

    name: str
    url: str
    ref: str | None = None
    products: tuple[str, ...] = ()

    def carries(self, product: str) -> bool:
        return not self.products or product in self.products


#: the keys of a ``[products.<metapackage>]`` table and their help (the reference and
#: ``config init`` print it); ``repos`` is required, the others default as in ProductConfig
PRODUCT_HELP = {
    "repos": "repos.yaml of the product: package name -> git URL (relative to the file)",
    "release_branch": "name of a release's branches, made of {major} and {minor}",
    "external": "dependencies that are not packages of the product: never fetched nor built",
    "external_repos": "packages of the product on external forks: a final also tags them vM.n.p",
    "libraries": "library products ([libraries.NAME]) whose packages this product uses: "
    "installed from their release on the binary server, never cloned nor built",
    "demo": "shell command release validate --install runs in a stack with the release set "
    "up (exit 0: the demo works)",
}
PRODUCT_KEYS = set(PRODUCT_HELP)
#: the keys of a ``[libraries.<metapackage>]`` table and their help; ``tag`` is required
LIBRARY_HELP = {
    "tag": "the EUPS tag the library is released at (its tag list on the binary server)",
    "server": "URL of the binary server holding that release",
}
LIBRARY_KEYS = set(LIBRARY_HELP)
#: the keys of an ``[auxiliary.<name>]`` table and their help; ``url`` is required
AUXILIARY_HELP = {
    "url": "git URL of the repository, or its path (relative to the file)",
    "ref": "the branch tagged when no ref of the session's list exists in it (default: "
    "the repository's default branch)",
    "products": "the products whose releases it carries (default: every product)",
}
AUXILIARY_KEYS = set(AUXILIARY_HELP)
#: what each secret is (the reference and --help print it)
SECRET_HELP = {
    "binary_token": "the token sent to the binary server (servers.binary)",
    "registry_password": "the password or token of docker.user at the registry (docker.registry)",
    "jenkins_token": "the Jenkins API token of jenkins.user (JENKINS_USER_ID)",
    "jira_token": "the Jira personal access token dm-release sends to jira.url (Bearer)",
    "discourse_api_key": "the Discourse API key of discourse.user (dm-release announce --post)",
}
K = Kind


@dataclass(frozen=True)
class Config:
    """The validated settings passed down to the stages (frozen): how dm-release is set
    up, never what one run is asked (that is :class:`RequestOptions`, made into a request)."""

    products: tuple[ProductConfig, ...] = ()
    libraries: tuple[LibraryConfig, ...] = ()
    auxiliaries: tuple[AuxiliaryConfig, ...] = ()
    no_binary_fetch: bool = _option(
        False, K.BOOL, "never install binaries from the binary server; build instead",
        key="build.no_binary_fetch", env=("NO_BINARY_FETCH",), flag="--no-binary-fetch",
    )  # fmt: skip
    build_docs: bool = _option(
        False, K.BOOL, "ask the build command to build documentation (BUILD_DOCS=1)",
        key="build.docs", env=("BUILD_DOCS",), flag="--build-docs",
    )  # fmt: skip
    jobs: int = _option(
        0, K.INT, "packages built in parallel (0: min(cpu, 8))",
        key="build.jobs", env=("DM_RELEASE_JOBS",), flag="--jobs",
    )  # fmt: skip
    flavor: str = _option(
        "Linux64", K.TEXT, "EUPS flavor of the stack and of binaries (default: this machine's: "
        "Linux64 on x86_64 Linux, Linux on aarch64 Linux, DarwinX86 on x86_64 macOS, Darwin on "
        "arm64 macOS)",
        key="build.flavor", env=("DM_RELEASE_FLAVOR",),
    )  # fmt: skip
    build_command: str | None = _option(
        None, K.TEXT, "shell command building a package in its clone into $PREFIX",
        key="build.command", env=("DM_RELEASE_BUILD_COMMAND",),
    )  # fmt: skip
    exclusions: Path | None = _option(  # noqa: RUF009
        None, K.PATH, "exclusion map for setupOptional dependencies",
        key="build.exclusions", env=("DM_RELEASE_EXCLUSIONS",),
    )  # fmt: skip
    git_jobs: int = _option(
        0, K.INT, "git clones/fetches in parallel (0: min(4 x cpu, 16))",
        key="git.jobs", env=("DM_RELEASE_GIT_JOBS",),
    )  # fmt: skip
    git_timeout: int = _option(
        600, K.INT, "seconds before one git command is abandoned",
        key="git.timeout", env=("DM_RELEASE_GIT_TIMEOUT",),
    )  # fmt: skip
    default_branch: str = _option(
        "main", K.TEXT, "branch taken when no ref of the list exists",
        key="git.default_branch", env=("DM_RELEASE_DEFAULT_BRANCH",),
    )  # fmt: skip
    user_name: str = _option(
        "dm-release", K.TEXT, "author of versiondb commits and tags",
        key="git.user_name", env=("DM_RELEASE_GIT_USER_NAME",),
    )  # fmt: skip
    user_email: str = _option(
        "dm-release@localhost", K.TEXT, "e-mail of versiondb commits and tags",
        key="git.user_email", env=("DM_RELEASE_GIT_USER_EMAIL",),
    )  # fmt: skip
    work_dir: Path = _option(  # noqa: RUF009
        Path("work"), K.PATH, "clones, logs and status.json",
        key="paths.work_dir", env=("DM_RELEASE_WORK_DIR",),
    )  # fmt: skip
    state_dir: Path = _option(  # noqa: RUF009
        Path("work/state"), K.PATH, "release journals and locks (default: <work_dir>/state)",
        key="paths.state_dir", env=("DM_RELEASE_STATE_DIR",),
    )  # fmt: skip
    output_dir: Path | None = _option(  # noqa: RUF009
        None, K.PATH, "where manifest.txt and build.properties go (default: work_dir)",
        key="paths.output_dir", env=("DM_RELEASE_OUTPUT_DIR",), flag="--output-dir",
    )  # fmt: skip
    versiondb: Path = _option(  # noqa: RUF009
        Path("versiondb"), K.PATH, "the versiondb git repository (created when absent)",
        key="paths.versiondb", env=("DM_RELEASE_VERSIONDB",),
    )  # fmt: skip
    versiondb_remote: str | None = _option(
        None, K.TEXT, "URL (or absolute path) of the versiondb remote every agent shares: "
        "build ids, release locks and release plans live there (unset: this machine only)",
        key="paths.versiondb_remote", env=("DM_RELEASE_VERSIONDB_REMOTE",),
    )  # fmt: skip
    stack: Path = _option(  # noqa: RUF009
        Path("stack"), K.PATH, "EUPS stack: <stack>/<flavor>/<product>/<version>/; {env} in it "
        "is the environment's name",
        key="paths.stack", env=("DM_RELEASE_STACK",),
    )  # fmt: skip
    binary_server: str | None = _option(
        None, K.TEXT, "URL of the binary (tarball) server; {env} in it is the environment's name",
        key="servers.binary", env=("DM_RELEASE_BINARY_SERVER",),
    )  # fmt: skip
    source_server: str | None = _option(
        None, K.TEXT, "URL or directory of the source (eupspkg) server; {env} in it is the "
        "environment's name",
        key="servers.source", env=("DM_RELEASE_SOURCE_SERVER",),
    )  # fmt: skip
    source_server_dir: str | None = _option(
        None, K.TEXT, "where publish writes the source (eupspkg) server tree: a directory, "
        "or gs://BUCKET/PATH or s3://BUCKET/PATH; {env} in it is the environment's name",
        key="paths.source_server", env=("DM_RELEASE_SOURCE_SERVER_DIR",),
    )  # fmt: skip
    binary_server_dir: str | None = _option(
        None, K.TEXT, "where tarball writes the binary (tarball) server tree: a directory, "
        "or gs://BUCKET/PATH or s3://BUCKET/PATH; {env} in it is the environment's name",
        key="paths.binary_server", env=("DM_RELEASE_BINARY_SERVER_DIR",),
    )  # fmt: skip
    env_name: str | None = _option(
        None, K.TEXT, "name or version of the build environment (the conda environment): "
        "selects the stack and the servers ({env} in their paths) and is recorded in the "
        "published tag lists",
        key="build.env", env=("RUBINENV_VER", "SPLENV_REF", "DM_RELEASE_ENV"),
    )  # fmt: skip
    download_max_bytes: int = _option(
        4 << 30, K.INT, "bytes one binary download may have; a larger one is stopped",
        key="servers.download_max_bytes", env=("DM_RELEASE_DOWNLOAD_MAX_BYTES",),
    )  # fmt: skip
    download_deadline: int = _option(
        1800, K.INT, "seconds one binary download may take in all (not per read)",
        key="servers.download_deadline", env=("DM_RELEASE_DOWNLOAD_DEADLINE",),
    )  # fmt: skip
    unpack_max_bytes: int = _option(
        16 << 30, K.INT, "bytes a binary tarball may unpack to (the sum of its members)",
        key="servers.unpack_max_bytes", env=("DM_RELEASE_UNPACK_MAX_BYTES",),
    )  # fmt: skip
    docker_registry: str | None = _option(
        None, K.TEXT, "the registry dm-release docker pushes images to: HOST[:PORT] or "
        "https://HOST[:PORT]; http://HOST[:PORT] is a registry over plain HTTP, for the "
        "builder's push too (no TLS whatever docker.tls_verify says)",
        key="docker.registry", env=("DM_RELEASE_DOCKER_REGISTRY",),
    )  # fmt: skip
    docker_repository: str = _option(
        "lsst/scipipe", K.TEXT, "the image's repository in that registry",
        key="docker.repository", env=("DM_RELEASE_DOCKER_REPOSITORY",),
    )  # fmt: skip
    docker_tag_prefix: str = _option(
        "al9", K.TEXT, "the prefix of the image's tags: PREFIX-<EUPS tag>",
        key="docker.tag_prefix", env=("DM_RELEASE_DOCKER_TAG_PREFIX",),
    )  # fmt: skip
    docker_base_image: str | None = _option(
        None, K.TEXT, "the image the distribution image is built FROM: an EUPS stack in "
        "/opt/lsst/software/stack with its loadLSST.bash",
        key="docker.base_image", env=("DM_RELEASE_DOCKER_BASE_IMAGE",),
    )  # fmt: skip
    docker_builder: str = _option(
        "auto", K.TEXT, "the image builder: auto (buildah, else a docker engine that "
        "answers), buildah or docker",
        key="docker.builder", env=("DM_RELEASE_DOCKER_BUILDER",),
    )  # fmt: skip
    docker_platforms: tuple[str, ...] = _option(
        (), K.LIST, "the platforms to build an image for, os/arch (default: this "
        "machine's, linux/amd64 or linux/arm64)",
        key="docker.platforms", env=("DM_RELEASE_DOCKER_PLATFORMS",),
    )  # fmt: skip
    registry_user: str | None = _option(
        None, K.TEXT, "the user dm-release docker logs in to the registry as (its password "
        "is the secret DM_RELEASE_REGISTRY_PASSWORD)",
        key="docker.user", env=("DM_RELEASE_REGISTRY_USER",),
    )  # fmt: skip
    docker_tls_verify: bool = _option(
        True, K.BOOL, "verify the registry's TLS certificate (false: a local registry "
        "over plain HTTP)",
        key="docker.tls_verify", env=("DM_RELEASE_DOCKER_TLS_VERIFY",),
    )  # fmt: skip
    jenkins_url: str | None = _option(
        None, K.TEXT, "URL of the Jenkins that dm-release jenkins triggers and follows (a "
        "Jenkins build's own JENKINS_URL names its Jenkins)",
        key="jenkins.url", env=("JENKINS_URL",),
    )  # fmt: skip
    jenkins_user: str | None = _option(
        None, K.TEXT, "the Jenkins user dm-release jenkins signs in as (its API token is "
        "the secret JENKINS_API_TOKEN; neither: anonymous)",
        key="jenkins.user", env=("JENKINS_USER_ID",),
    )  # fmt: skip
    jenkins_timeout: int = _option(
        30, K.INT, "seconds before one request to Jenkins is abandoned",
        key="jenkins.timeout", env=("DM_RELEASE_JENKINS_TIMEOUT",),
    )  # fmt: skip
    jenkins_poll_ms: int = _option(
        2000, K.INT, "milliseconds between two reads of a followed build (its queue item, "
        "console log and result)",
        key="jenkins.poll_ms", env=("DM_RELEASE_JENKINS_POLL_MS",),
    )  # fmt: skip
    jenkins_retries: int = _option(
        10, K.INT, "times a request Jenkins answers 429 or 503 (busy) is sent again, after "
        "its Retry-After or a back-off of 1, 2, 4 ... 60 seconds (a trigger only after a "
        "Retry-After, when the job shows nothing queued)",
        key="jenkins.retries", env=("DM_RELEASE_JENKINS_RETRIES",),
    )  # fmt: skip
    jira_url: str | None = _option(
        None, K.TEXT, "URL of the Jira (Data Center, REST v2) holding the release issue and "
        "the tickets of a release (its personal access token is the secret "
        "DM_RELEASE_JIRA_TOKEN; unset: no Jira is read or written)",
        key="jira.url", env=("DM_RELEASE_JIRA_URL",),
    )  # fmt: skip
    jira_project: str = _option(
        "DM", K.TEXT, "the Jira project whose versions are a release's Fix Version",
        key="jira.project", env=("DM_RELEASE_JIRA_PROJECT",),
    )  # fmt: skip
    jira_jobs: int = _option(
        4, K.INT, "requests to Jira in flight at once",
        key="jira.jobs", env=("DM_RELEASE_JIRA_JOBS",),
    )  # fmt: skip
    jira_timeout: int = _option(
        30, K.INT, "seconds before one request to Jira is abandoned",
        key="jira.timeout", env=("DM_RELEASE_JIRA_TIMEOUT",),
    )  # fmt: skip
    jira_retries: int = _option(
        5, K.INT, "times a request Jira answers 429 or 503 (busy) is sent again, after its "
        "Retry-After or a back-off of 1, 2, 4 ... 60 seconds",
        key="jira.retries", env=("DM_RELEASE_JIRA_RETRIES",),
    )  # fmt: skip
    jira_rfc_approved: tuple[str, ...] = _option(
        ("Adopted", "Implemented"), K.LIST, "the statuses of an RFC issue that count as "
        "approved (a patch release needs its RFC approved)",
        key="jira.rfc_approved", env=("DM_RELEASE_JIRA_RFC_APPROVED",),
    )  # fmt: skip
    notes_template: Path | None = _option(  # noqa: RUF009
        None, K.PATH, "the installation instructions of dm-release notes, a text with "
        "{placeholders}: {product} {version} {git_tag} {eups_tag} {build_id} "
        "{manifest_checksum} (default: a built-in one per output format)",
        key="notes.template", env=("DM_RELEASE_NOTES_TEMPLATE",),
    )  # fmt: skip
    notes_overrides: Path | None = _option(  # noqa: RUF009
        None, K.PATH, "the override map of dm-release notes (YAML, or TOML for a .toml "
        "file): per ticket hide, summary (a new one) and section (move it)",
        key="notes.overrides", env=("DM_RELEASE_NOTES_OVERRIDES",),
    )  # fmt: skip
    discourse_url: str | None = _option(
        None, K.TEXT, "URL of the Discourse forum dm-release announce posts to (its API key "
        "is the secret DM_RELEASE_DISCOURSE_API_KEY)",
        key="discourse.url", env=("DM_RELEASE_DISCOURSE_URL",),
    )  # fmt: skip
    discourse_user: str | None = _option(
        None, K.TEXT, "the Discourse user the announcement is posted as (Api-Username)",
        key="discourse.user", env=("DM_RELEASE_DISCOURSE_USER",),
    )  # fmt: skip
    discourse_category: int | None = _option(
        None, K.INT, "the id of the Discourse category the announcement is posted in",
        key="discourse.category", env=("DM_RELEASE_DISCOURSE_CATEGORY",),
    )  # fmt: skip
    announce_feedback: str | None = _option(
        None, K.TEXT, "how to give feedback on a planned release, the last part of its "
        "announcement (default: reply to the topic)",
        key="announce.feedback", env=("DM_RELEASE_ANNOUNCE_FEEDBACK",),
    )  # fmt: skip
    exclude_from_builds: tuple[str, ...] = _option(
        (), K.LIST, "products never built: taken out of the products a rebuild, a release "
        "session (its plan, tags and build) or a publish is asked for (a run left with none "
        "says so and succeeds)",
        key="build.exclude_products", env=("EXCLUDE_FROM_BUILDS",),
    )  # fmt: skip
    exclude_from_tarballs: tuple[str, ...] = _option(
        (), K.LIST, "products never packed onto the binary server: taken out of the products "
        "a tarball run or an image is asked for (a run left with none says so and succeeds)",
        key="tarball.exclude_products", env=("EXCLUDE_FROM_TARBALLS",),
    )  # fmt: skip
    o_latest: bool = _option(
        True, K.BOOL, "a final release also moves the floating tag o_latest (its tag lists "
        "and image tag); false: the final is published under its own tag only",
        key="publish.o_latest", env=("O_LATEST",),
    )  # fmt: skip
    validate_eups: str | None = _option(
        None, K.TEXT, "the EUPS installation release validate --install installs with: its "
        "setups.sh, or its directory (unset: $EUPS_DIR's; without one the binary install "
        "uses dm-release's own fetch and the source install is skipped)",
        key="validate.eups", env=("DM_RELEASE_VALIDATE_EUPS",),
    )  # fmt: skip
    eups_dir: str | None = _option(
        None, K.TEXT, "the EUPS set up in this shell (setups.sh sets it): validate.eups when "
        "that is not set",
        env=("EUPS_DIR",),
    )  # fmt: skip
    validate_timeout: int = _option(
        1800, K.INT, "seconds one install or the demo command of release validate --install "
        "may take",
        key="validate.timeout", env=("DM_RELEASE_VALIDATE_TIMEOUT",),
    )  # fmt: skip
    binary_token: Secret | None = field(default=None, repr=False)
    registry_password: Secret | None = field(default=None, repr=False)
    jenkins_token: Secret | None = field(default=None, repr=False)
    jira_token: Secret | None = field(default=None, repr=False)
    discourse_api_key: Secret | None = field(default=None, repr=False)
    config_path: str | None = None

    @property
    def outputs(self) -> Path:
        return self.output_dir or self.work_dir

    def products_named(self, names: Sequence[str]) -> tuple[ProductConfig, ...]:
        """The configured products ``names`` in their order, or every one when empty
        (the loader has checked that each is configured: ``config-product``)."""
        by_name = {p.name: p for p in self.products}
        return tuple(by_name[n] for n in names) if names else self.products

    def one_product(
        self, name: str | None, selected: Sequence[str] = (), *, what: str = "a release is"
    ) -> ProductConfig:
        """The one product a run works on: ``name``, or the only one of ``selected`` (every
        configured product when empty); UsageError otherwise, saying ``what`` ("a release
        is") of one product."""
        from dmrelease.core.errors import UsageError

        products = self.products_named(selected)
        if name is not None:
            products = tuple(p for p in self.products if p.name == name)
            if not products:
                raise UsageError(f"product {name!r} is not configured in dm-release.toml")
        if len(products) != 1:
            names = ", ".join(p.name for p in products) or "none"
            raise UsageError(f"{what} of one product; give --product (configured: {names})")
        return products[0]

    def auxiliaries_of(self, product: str) -> tuple[AuxiliaryConfig, ...]:
        """The auxiliary repositories that carry ``product``'s releases, in their order."""
        return tuple(a for a in self.auxiliaries if a.carries(product))


@dataclass(frozen=True)
class RequestOptions:
    """The options that say what one run is asked to do, not how dm-release is set up
    (issue 9 §2): loaded like the settings (default < file < environment < flag, the
    Jenkins parameter names), then made into one frozen request by the command
    (:meth:`build_request`, or the release command's ``ReleaseRequest``)."""

    selected: tuple[str, ...] = _option(
        (), K.LIST, "products to build (default: all configured)",
        key="build.products", env=("PRODUCTS",), flag="--products", metavar="PRODUCT",
    )  # fmt: skip
    refs: RefList = _option(  # noqa: RUF009
        RefList(), K.LIST, "ordered git refs; per package the first that exists wins",
        key="build.refs", env=("REFS", "SOURCE_GIT_REFS", "GIT_REFS"), flag="--refs",
        metavar="REF",
    )  # fmt: skip
    release_tag: str | None = _option(
        None, K.TEXT, "the tag a release session makes or checks (the release verbs' TAG)",
        env=("RELEASE_GIT_TAG", "GIT_TAG"), metavar="TAG",
    )  # fmt: skip
    prepare_only: bool = _option(
        False, K.BOOL, "clone, resolve and write the manifest; do not build",
        env=("PREP_ONLY",), flag="--prepare-only",
    )  # fmt: skip
    eups_tag: str | None = _option(
        None, K.TEXT, "EUPS tag to declare over the built versions after a successful build",
        env=("EUPS_TAG",), flag="--tag", metavar="TAG",
    )  # fmt: skip

    build_id: str | None = _option(
        None, K.TEXT, "the build (bNNNN in versiondb) to publish or pack (default: the last)",
        env=("MANIFEST_ID",), flag="--build", metavar="bNNNN",
    )  # fmt: skip
    no_push: bool = _option(
        False, K.BOOL, "build the image but push nothing to the registry",
        env=("NO_PUSH",), flag="--no-push",
    )  # fmt: skip
    docker_tags: tuple[str, ...] = _option(
        (), K.LIST, "more tags for the image, each pushed as given and as PREFIX-TAG; they "
        "move like the floating tags",
        env=("DOCKER_TAGS",), flag="--docker-tags", metavar="TAG",
    )  # fmt: skip
    eupspkg_source: str | None = _option(
        None, K.TEXT, "how a published source package gets its source: git (cloned at "
        "install) or package (embedded; the default for a final release)",
        env=("EUPSPKG_SOURCE",), flag="--source", metavar="git|package",
    )  # fmt: skip
    release_issue: str | None = _option(
        None, K.TEXT, "the Jira issue of the release (DM-N): the issues blocking it are the "
        "release's blockers",
        key="jira.release_issue", env=("RELEASE_ISSUE",), flag="--release-issue",
        metavar="KEY",
    )  # fmt: skip

    def build_request(self, *, dry_run: bool = False) -> BuildRequest:
        """The rebuild's request: these products from these refs."""
        return BuildRequest(self.selected, self.refs, self.eups_tag, self.prepare_only, dry_run)


@dataclass(frozen=True)
class Loaded:
    """What the loader gives the command: the settings and the request options, and where
    each value came from (``sources``: by option, secret and ``products.NAME``)."""

    config: Config
    request: RequestOptions
    sources: Mapping[str, str] = field(default_factory=dict, compare=False)


def options() -> dict[str, OptionSpec]:
    """Every option by field name, in declaration order: the settings of :class:`Config`,
    then the :class:`RequestOptions`."""
    return {**setting_options(), **request_options()}


def setting_options() -> dict[str, OptionSpec]:
    """The options of :class:`Config`."""
    return _declared(Config)


def request_options() -> dict[str, OptionSpec]:
    """The options of :class:`RequestOptions`."""
    return _declared(RequestOptions)


def _declared(cls: type) -> dict[str, OptionSpec]:
    return {f.name: f.metadata["option"] for f in dataclasses.fields(cls) if "option" in f.metadata}
