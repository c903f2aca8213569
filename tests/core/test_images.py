"""core/images: the distribution image's tags, Dockerfile, identity, push plan and results."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from dmrelease.core.errors import UsageError
from dmrelease.core.images import (
    IDENTITY_LABEL,
    Identity,
    ImageConflict,
    ImageTags,
    PlatformImage,
    PushPlan,
    Results,
    arch_of,
    base_image_problem,
    builder_problem,
    dockerfile,
    image_tags,
    platform_problem,
    platform_tag,
    push_plan,
    read_results,
    registry_problem,
    repository_problem,
    sha256_text,
    tag_prefix_problem,
)

WHEN = dt.datetime(2025, 6, 12, 15, 4, 5, tzinfo=dt.UTC)
A = "sha256:" + "a" * 64
B = "sha256:" + "b" * 64


@pytest.mark.parametrize(
    ("tag", "floating", "extra", "expected"),
    [
        ("w_2025_24", ("w_latest",), (), ImageTags(
            "al9-w_2025_24", "al9-w_2025_24-20250612T150405Z", ("w_latest", "al9-w_latest"))),
        ("d_2025_06_11", ("d_latest",), ("nightly",), ImageTags(
            "al9-d_2025_06_11", "al9-d_2025_06_11-20250612T150405Z",
            ("d_latest", "al9-d_latest", "nightly", "al9-nightly"))),
        ("v29_1_0", ("o_latest",), (), ImageTags(
            "al9-v29_1_0", "al9-v29_1_0-20250612T150405Z", ("o_latest", "al9-o_latest"))),
        ("v29_1_0", (), (), ImageTags("al9-v29_1_0", "al9-v29_1_0-20250612T150405Z")),
        ("v29_1_0_rc1", (), ("al9-x", "x"), ImageTags(
            "al9-v29_1_0_rc1", "al9-v29_1_0_rc1-20250612T150405Z", ("al9-x", "al9-al9-x", "x"))),
    ],
)  # fmt: skip
def test_tags_are_the_real_jobs_on_a_24_hour_utc_clock(
    tag: str, floating: tuple[str, ...], extra: tuple[str, ...], expected: ImageTags
) -> None:
    assert image_tags("al9", tag, WHEN, floating, extra) == expected


def test_the_dated_tag_is_utc_and_24_hour_whatever_the_zone_given() -> None:
    evening = dt.datetime(2025, 6, 12, 23, 30, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert image_tags("al9", "w_2025_24", evening).dated == "al9-w_2025_24-20250612T213000Z"


def test_the_base_tag_is_pushed_last() -> None:
    tags = image_tags("al9", "w_2025_24", WHEN, ("w_latest",))
    assert tags.push_order == (
        "al9-w_2025_24-20250612T150405Z", "w_latest", "al9-w_latest", "al9-w_2025_24",
    )  # fmt: skip
    assert tags.immutable == ("al9-w_2025_24", "al9-w_2025_24-20250612T150405Z")


@pytest.mark.parametrize(
    ("prefix", "tag", "extra", "message"),
    [
        ("al9", "w.2025.24", (), "docker tags of 'w.2025.24': not the EUPS tag of a DM name "
         "(v29_1_0, v29_1_0_rc1, w_2025_24, d_2025_06_11, b1)"),
        ("al9-", "w_2025_24", (), "docker tags of 'w_2025_24': a docker prefix is letters, "
         "digits, '_', '.', '-', starting with a letter or digit and not ending in '.' or '-'"),
        ("al9", "w_2025_24", ("-x",), "'-x' is not a docker tag: letters, digits, '_', '.' "
         "and '-', at most 128, not starting with '.' or '-'"),
        ("al9", "w_2025_24", ("x" * 125,), f"'{'x' * 125}' is not a docker tag: letters, "
         "digits, '_', '.' and '-', at most 128, not starting with '.' or '-'"),
    ],
)  # fmt: skip
def test_bad_tags_are_usage_errors(
    prefix: str, tag: str, extra: tuple[str, ...], message: str
) -> None:
    with pytest.raises(UsageError) as refused:
        image_tags(prefix, tag, WHEN, (), extra)
    assert str(refused.value) == message
    assert refused.value.exit_code == 2


@pytest.mark.parametrize(
    ("tag", "extra", "name"),
    [
        ("w_2025_24", ("w_2025_23",), "al9-w_2025_23"),  # another release's base, prefixed
        ("w_2025_24", ("al9-v29_1_0",), "al9-v29_1_0"),  # another release's base, as given
        ("w_2025_24", ("al9-w_2025_24",), "al9-w_2025_24"),  # this release's own
        ("w_2025_24", ("v29_1_0-20250101T000000Z",), "al9-v29_1_0-20250101T000000Z"),
        ("w_2025_24", ("al9-d_2025_06_11_arm64",), "al9-d_2025_06_11_arm64"),
        ("w_2025_24", ("b12_amd64",), "al9-b12_amd64"),
    ],
)
def test_a_floating_tag_that_names_an_immutable_tag_is_refused(
    tag: str, extra: tuple[str, ...], name: str
) -> None:
    for floating, also in ((extra, ()), ((), extra)):
        with pytest.raises(UsageError) as refused:
            image_tags("al9", tag, WHEN, floating, also)
        assert str(refused.value) == (
            f"{extra[0]!r} cannot be a floating tag: {name} is the name of a release's "
            "immutable tag (al9-<EUPS tag>, its dated tag or one platform's), which is never "
            "moved"
        )
        assert refused.value.exit_code == 2


def test_floating_names_that_are_no_release_s_stay_allowed() -> None:
    extra = ("w_latest", "al9-w_latest", "latest", "al9-x", "al9-w_2025", "v29_1_0.x")
    assert image_tags("al9", "w_2025_24", WHEN, (), extra).floating == (
        "w_latest", "al9-w_latest", "al9-al9-w_latest", "latest", "al9-latest", "al9-x",
        "al9-al9-x", "al9-w_2025", "al9-al9-w_2025", "v29_1_0.x", "al9-v29_1_0.x",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("check", "value", "problem"),
    [
        (registry_problem, "reg.example:5000", None),
        (registry_problem, "https://reg.example", None),
        (registry_problem, "http://127.0.0.1:5000/", None),
        (registry_problem, "u:p@reg.example:5000", "a registry with credentials: set "
         "docker.user and DM_RELEASE_REGISTRY_PASSWORD instead"),
        (registry_problem, "https://u:p@reg.example", "a registry with credentials: set "
         "docker.user and DM_RELEASE_REGISTRY_PASSWORD instead"),
        (registry_problem, "https://reg.example/v2", "not HOST[:PORT], https://HOST[:PORT] "
         "or http://HOST[:PORT] (no path)"),
        (repository_problem, "lsst/scipipe", None),
        (repository_problem, "Bad Repo", "not a repository: lower-case path parts of letters "
         "and digits joined by '.', '_', '__' or '-', separated by '/' (lsst/scipipe)"),
        (base_image_problem, "localhost/dm-release/base:key-1", None),
        (base_image_problem, "reg.example:5000/lsst/newinstall@sha256:" + "a" * 64, None),
        (base_image_problem, "b\nRUN touch /pwned", "not an image reference: "
         "[HOST[:PORT]/]REPOSITORY[:TAG][@DIGEST], no spaces, not starting with '-'"),
        (base_image_problem, "-x", "not an image reference: "
         "[HOST[:PORT]/]REPOSITORY[:TAG][@DIGEST], no spaces, not starting with '-'"),
        (tag_prefix_problem, "al9", None),
        (tag_prefix_problem, "a b", "not a docker tag prefix: letters, digits, '_', '.', '-', "
         "at most 64, starting with a letter or digit and not ending in '.' or '-'"),
        (builder_problem, "buildah", None),
        (builder_problem, "podman", "not one of auto, buildah, docker"),
        (platform_problem, ("linux/amd64", "linux/arm64/v8"), None),
        (platform_problem, ("linux/amd64", "linux"),
         "not a list of platforms OS/ARCH[/VARIANT] (linux/amd64): 'linux'"),
    ],
)  # fmt: skip
def test_docker_settings_are_checked(check: Any, value: Any, problem: str | None) -> None:
    assert check(value) == problem


@pytest.mark.parametrize(
    ("platform", "arch"),
    [("linux/amd64", "amd64"), ("linux/arm64", "arm64"), ("linux/arm64/v8", "arm64")],
)
def test_each_platform_is_pushed_under_its_arch(platform: str, arch: str) -> None:
    assert arch_of(platform) == arch
    assert platform_tag("al9-w_2025_24", platform) == f"al9-w_2025_24_{arch}"


@pytest.mark.parametrize("platform", ["amd64", "linux/", "Linux/AMD64", "linux/amd64/v8/x"])
def test_a_bad_platform_is_a_usage_error(platform: str) -> None:
    with pytest.raises(UsageError) as refused:
        arch_of(platform)
    assert str(refused.value) == f"{platform!r} is not a platform OS/ARCH[/VARIANT] (linux/amd64)"


def test_the_dockerfile_installs_each_product_at_the_tag_from_the_build_argument() -> None:
    install = 'eups distrib install --no-server-tags --repository \\"$EUPS_PKGROOT\\" --tag w_1 '
    assert dockerfile("localhost/base:1", "w_1", ["meta", "extra"]) == (
        "FROM localhost/base:1\n"
        "ARG EUPS_PKGROOT\n"
        'RUN ["/bin/bash", "-c", "set -e; source /opt/lsst/software/stack/loadLSST.bash; '
        f"{install}meta && {install}extra; "
        'rm -rf \\"$EUPS_PATH/EupsBuildDir\\"; eups list --tag w_1"]\n'
        "WORKDIR /opt/lsst/software/stack\n"
    )


def identity(products: tuple[str, ...] = ("meta",), **changes: str) -> Identity:
    fields = {
        "eups_tag": "w_2025_24",
        "build_id": "b1",
        "tag_list": sha256_text("list"),
        "base_image": "base",
        "base": sha256_text("{}"),
        "dockerfile": sha256_text("F"),
    }
    fields.update(changes)
    return Identity(products=products, **fields)


def test_the_identity_is_what_the_image_is_made_of_and_each_part_counts() -> None:
    labels = identity().labels()
    assert sorted(labels) == sorted(
        f"org.lsst.dm-release.{key}" for key in (
            "eups-tag", "build", "tag-list", "products", "base-image", "base", "dockerfile",
            "identity",
        )
    )  # fmt: skip
    assert labels[IDENTITY_LABEL] == identity().digest
    assert labels["org.lsst.dm-release.products"] == "meta"
    digests = {identity().digest}
    for name in ("eups_tag", "build_id", "tag_list", "base_image", "base", "dockerfile"):
        digests.add(identity(**{name: "other"}).digest)
    digests.add(identity(products=("meta", "extra")).digest)
    digests.add(identity(products=("extra",)).digest)
    assert len(digests) == 9


TAGS = image_tags("al9", "w_2025_24", WHEN, ("w_latest",))


def test_nothing_there_pushes_every_tag_base_last() -> None:
    plan = push_plan("r/x", TAGS, "I", {})
    assert plan == PushPlan(TAGS.push_order) and not plan.no_op


def test_the_base_tag_there_with_the_same_identity_is_a_no_op() -> None:
    plan = push_plan("r/x", TAGS, "I", {TAGS.base: (A, "I")})
    assert plan == PushPlan((), A) and plan.no_op


def test_a_dated_tag_there_alone_is_pushed_again_a_run_stopped_half_way() -> None:
    plan = push_plan("r/x", TAGS, "I", {TAGS.dated: (A, "I"), TAGS.base: None})
    assert plan == PushPlan(TAGS.push_order)


def test_the_base_tag_there_for_other_platforms_is_refused_naming_both_sets() -> None:
    """An amd64-only image under the base tag is not the amd64 + arm64 image asked."""
    asked = ("linux/arm64", "linux/amd64")
    with pytest.raises(ImageConflict) as refused:
        push_plan("r/x", TAGS, "I", {TAGS.base: (A, "I")}, platforms=asked,
                  held=("linux/amd64",))  # fmt: skip
    assert refused.value.exit_code == 1
    assert [str(d) for d in refused.value.diagnostics] == [
        f"r/x:al9-w_2025_24:1: image-immutable: the registry holds {A} under al9-w_2025_24 "
        "for linux/amd64, this run is for linux/amd64, linux/arm64; an immutable tag is never "
        "moved (release under a new EUPS tag, or build the platforms it holds)"
    ]
    same = push_plan("r/x", TAGS, "I", {TAGS.base: (A, "I")}, platforms=asked,
                     held=("linux/amd64", "linux/arm64"))  # fmt: skip
    assert same == PushPlan((), A)


def test_a_per_platform_tag_with_another_identity_is_refused_once() -> None:
    own = ImageTags("al9-w_2025_24_amd64", "al9-w_2025_24_amd64")
    with pytest.raises(ImageConflict) as refused:
        push_plan("r/x", own, "I", {own.base: (A, "J")})
    assert [d.path for d in refused.value.diagnostics] == ["r/x:al9-w_2025_24_amd64"]


def test_every_immutable_tag_with_another_identity_is_refused() -> None:
    with pytest.raises(ImageConflict) as refused:
        push_plan("r/x", TAGS, "I", {TAGS.base: (A, "J"), TAGS.dated: (B, None)})
    assert refused.value.exit_code == 1
    assert [str(d) for d in refused.value.diagnostics] == [
        f"r/x:al9-w_2025_24:1: image-immutable: the registry holds {A} under al9-w_2025_24, "
        "made of other content (identity J, this run's I); an immutable tag is never moved "
        "(release under a new EUPS tag, or remove the tag from the registry by hand)",
        f"r/x:al9-w_2025_24-20250612T150405Z:1: image-immutable: the registry holds {B} under "
        "al9-w_2025_24-20250612T150405Z, made of other content (identity none, this run's I); "
        "an immutable tag is never moved (release under a new EUPS tag, or remove the tag "
        "from the registry by hand)",
    ]


def test_floating_tags_there_with_any_content_may_move() -> None:
    found = {"w_latest": (A, "J"), "al9-w_latest": (B, None)}
    assert push_plan("r/x", TAGS, "I", found) == PushPlan(TAGS.push_order)


def test_results_read_back_are_the_results_written() -> None:
    results = Results(
        "127.0.0.1:5000/lsst/scipipe", "w_2025_24", TAGS.push_order, (
            PlatformImage("linux/amd64", A, "al9-w_2025_24_amd64"),
            PlatformImage("linux/arm64", B, "al9-w_2025_24_arm64"),
        ), "sha256:" + "c" * 64, "sha256:" + "c" * 64, True, "pushed", "I", {"k": "v"},
    )  # fmt: skip
    text = json.dumps(results.as_dict())
    assert read_results(text, "r.json") == results
    assert json.loads(text)["platforms"][1] == {
        "platform": "linux/arm64", "digest": B, "tag": "al9-w_2025_24_arm64",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("text", "why"),
    [("{", "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"),
     ("{}", "'image'"), ("[]", "list indices must be integers or slices, not str")],
)  # fmt: skip
def test_other_text_is_not_results(text: str, why: str) -> None:
    with pytest.raises(UsageError) as refused:
        read_results(text, "r.json")
    assert str(refused.value) == f"r.json: not the results.json of dm-release docker ({why})"
