"""Photos keep no private text, cost little to process whatever is uploaded, read HEIC,
and are never kept in a shared phone's cache."""

import io
import json
import subprocess
import sys
import textwrap

import pillow_heif
import pytest
from PIL import Image, ImageCms
from sqlmodel import select

from walkabout.db import session_scope
from walkabout.models import Photo, Role, WalkaboutStatus
from walkabout.services.photos import MAX_SIDE, PhotoRejected, process_upload

from .conftest import login, post_form

PATIENT = b"Patient: Jane Doe, NHS 943 476 5919, bed 12"
CPU_BUDGET_SECONDS = 0.3
MEMORY_BUDGET_MB = 150


def jpeg_with_private_text(width=2400, height=1800) -> bytes:
    """A JPEG carrying the patient's name in every metadata block a JPEG can hold."""
    image = Image.new("RGB", (width, height), (30, 120, 200))
    exif = Image.Exif()
    exif[0x010E] = PATIENT.decode()  # ImageDescription
    exif[0x9286] = PATIENT.decode()  # UserComment
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><dc:description>' + PATIENT + b"</dc:description></x:xmpmeta>"
    out = io.BytesIO()
    image.save(out, "JPEG", comment=PATIENT, exif=exif, icc_profile=icc + PATIENT, xmp=xmp)
    raw = out.getvalue()
    assert raw.count(PATIENT) >= 4  # COM, EXIF (twice), XMP, ICC
    return raw


def assert_no_metadata(data: bytes) -> None:
    assert PATIENT not in data and b"Jane Doe" not in data
    image = Image.open(io.BytesIO(data))
    assert not image.getexif()
    for key in ("comment", "icc_profile", "exif", "xmp", "XML:com.adobe.xmp"):
        assert key not in image.info, key


def test_every_metadata_block_is_dropped():
    photo = process_upload(jpeg_with_private_text())
    assert_no_metadata(photo.data)
    assert_no_metadata(photo.thumbnail)


def test_the_served_photo_and_thumbnail_carry_no_comment_and_are_not_cached(app, factory):
    lead = factory.user(Role.EXECUTIVE)
    walkabout = factory.walkabout(factory.ward(), lead, status=WalkaboutStatus.IN_PROGRESS)
    client = app.test_client()
    login(client, lead.email)
    response = post_form(
        client,
        f"/walkabouts/{walkabout.id}/concerns",
        {
            "text": "Drug fridge door left open",
            "kind": "concern",
            "photo": (io.BytesIO(jpeg_with_private_text()), "IMG_2041.jpg"),
        },
        token_from=f"/walkabouts/{walkabout.id}/capture",
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    with session_scope(app) as session:
        photo_id = session.exec(select(Photo.id)).one()
    for path in (f"/photos/{photo_id}.jpg", f"/photos/{photo_id}/thumb.jpg"):
        served = client.get(path)
        assert served.status_code == 200
        assert_no_metadata(served.data)
        assert served.headers["Cache-Control"] == "private, no-store"


# --- what an upload may cost -----------------------------------------------------------

# The budget is CPU time on the reference machine (the 2-core machine `bench/README.md` was
# measured on), where REFERENCE_JOB's cheapest warm run takes REFERENCE_SECONDS. The job is
# plain Pillow work of the same kind (decode a PNG, resize, encode a JPEG), never the code under
# test, so a slower `process_upload` still shows; timing both in the same process, interleaved,
# cancels out a busier or slower host (a CI run once saw every Pillow call 45% slower).
REFERENCE_SECONDS = 0.092
REFERENCE_JOB = """
REFERENCE = open(sys.argv[1], "rb").read()

def reference():
    started = time.process_time()
    img = Image.open(io.BytesIO(REFERENCE))
    img.load()
    small = img.resize((1000, 1000), Image.Resampling.BILINEAR)
    small.save(io.BytesIO(), "JPEG", quality=82, progressive=True)
    return time.process_time() - started
"""


@pytest.fixture(scope="module")
def reference_png(tmp_path_factory) -> str:
    """The reference job's input: a 1500x1500 picture-like PNG, built once."""
    path = tmp_path_factory.mktemp("reference") / "reference.png"
    picture(1500, 1500, "RGB").save(path, "PNG")
    return str(path)


MEASURE = (
    textwrap.dedent(
        """
    import io, json, re, sys, time
    from PIL import Image
    raw = sys.stdin.buffer.read()
    from walkabout.services.photos import PhotoRejected, process_upload

    def status_kb(field):
        text = open("/proc/self/status").read()
        return int(re.search(field + r":\\s+(\\d+) kB", text).group(1))

    def process():
        started = time.process_time()
        try:
            process_upload(raw)
            outcome = "accepted"
        except PhotoRejected as error:
            outcome = str(error)
        return outcome, time.process_time() - started
    """
    )
    + REFERENCE_JOB
    + textwrap.dedent(
        """
    before = status_kb("VmRSS")
    with open("/proc/self/clear_refs", "w") as reset:
        reset.write("5")  # restart the peak (VmHWM) from the current size
    outcome, first = process()
    grown_kb = status_kb("VmHWM") - before
    # A worker has decoded images before: the first call's one-off plugin imports are not an
    # upload's cost, so CPU is the cheapest of the warm calls that follow.
    reference()
    seconds, reference_seconds = [], []
    for _ in range(3):
        reference_seconds.append(reference())
        seconds.append(process()[1])
    print(json.dumps({
        "outcome": outcome, "seconds": min(seconds), "reference": min(reference_seconds),
        "mb": grown_kb / 1024,
    }))
    """
    )
)


def cost_of(raw: bytes, reference_png: str, tries: int = 2) -> dict:
    """Process `raw` in a fresh interpreter: how far its peak resident memory grew on the first
    call (Pillow allocates in C, out of tracemalloc's sight, so the kernel's high-water mark is
    read) and the CPU time of a warm call, as it would be on the reference machine. The cheapest
    of `tries` runs is kept: a busy machine inflates CPU time, never deflates it."""
    runs = []
    for _ in range(tries):
        command = [sys.executable, "-c", MEASURE, reference_png]
        done = subprocess.run(command, input=raw, capture_output=True, check=True, timeout=60)
        runs.append(json.loads(done.stdout))
    seconds = min(run["seconds"] for run in runs)
    reference = min(run["reference"] for run in runs)
    return {
        "outcome": runs[0]["outcome"],
        "seconds": seconds * REFERENCE_SECONDS / reference,
        "measured": seconds,
        "reference": reference,
        "mb": max(run["mb"] for run in runs),
    }


def picture(width: int, height: int, mode: str) -> Image.Image:
    """Real pixels (a blurred noise field), not a blank image the decoder could skip."""
    return Image.effect_noise((width // 8, height // 8), 64).resize((width, height)).convert(mode)


def png_bytes(width: int, height: int, mode: str = "RGBA", blank: bool = False) -> bytes:
    out = io.BytesIO()
    (Image.new(mode, (width, height)) if blank else picture(width, height, mode)).save(out, "PNG")
    return out.getvalue()


def jpeg_bytes(width: int, height: int) -> bytes:
    out = io.BytesIO()
    picture(width, height, "RGB").save(out, "JPEG", quality=90)
    return out.getvalue()


@pytest.mark.parametrize(
    "label, make",
    [
        ("6300x6300 PNG of 154 KB", lambda: png_bytes(6300, 6300, blank=True)),
        ("largest accepted PNG", lambda: png_bytes(2500, 2000)),
        ("palette GIF", lambda: _gif(2500, 2000)),
        ("39-megapixel JPEG", lambda: jpeg_bytes(7000, 5600)),
    ],
)
def test_no_upload_costs_more_than_the_budget(label, make, reference_png):
    raw = make()
    assert len(raw) < 10 * 1024 * 1024, label
    cost = cost_of(raw, reference_png)
    assert cost["outcome"] == "accepted" or "too large" in cost["outcome"], (label, cost)
    assert cost["seconds"] < CPU_BUDGET_SECONDS, (label, cost)
    assert cost["mb"] < MEMORY_BUDGET_MB, (label, cost)


def _gif(width: int, height: int) -> bytes:
    out = io.BytesIO()
    picture(width, height, "RGB").quantize(64).save(out, "GIF")
    return out.getvalue()


def test_the_6300_pixel_png_is_refused_with_a_reason():
    with pytest.raises(PhotoRejected, match="too large in pixels"):
        process_upload(png_bytes(6300, 6300, blank=True))


def test_a_large_jpeg_is_decoded_at_reduced_size_and_still_fills_the_stored_size():
    photo = process_upload(jpeg_bytes(7000, 5600))
    assert (photo.width, photo.height) == (MAX_SIDE, 1280)


# --- HEIC ---------------------------------------------------------------------------------


def test_heic_from_a_phone_is_read():
    out = io.BytesIO()
    image = Image.new("RGB", (2016, 1512), (200, 60, 40))
    heif = pillow_heif.from_pillow(image)
    heif.save(out, quality=60)
    raw = out.getvalue()
    assert raw[4:12] == b"ftypheic"
    photo = process_upload(raw)
    stored = Image.open(io.BytesIO(photo.data))
    assert stored.format == "JPEG" and stored.size == (MAX_SIDE, 1200)
    assert stored.getpixel((10, 10))[0] > 150  # the red survived the conversion


HEIC_CPU_CEILING_SECONDS = 0.8  # HEVC has no reduced-size decoding: a 12 MP photo costs ~0.35 s to decode


def test_a_12_megapixel_heic_is_accepted_within_its_own_ceiling(reference_png):
    """The one exception to the 0.3 s budget, kept visible: refusing 12 MP HEIC would refuse iPhone photos."""
    base = Image.effect_noise((504, 378), 64).resize((4032, 3024)).convert("RGB")
    grain = Image.effect_noise((4032, 3024), 20).convert("RGB")
    out = io.BytesIO()
    pillow_heif.from_pillow(Image.blend(base, grain, 0.1)).save(out, quality=50)
    cost = cost_of(out.getvalue(), reference_png)
    assert cost["outcome"] == "accepted", cost
    assert cost["seconds"] < HEIC_CPU_CEILING_SECONDS and cost["mb"] < MEMORY_BUDGET_MB, cost
