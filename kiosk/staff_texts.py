"""Words staff are shown for a lane's devices: one table of device names and fault sentences
for the attendant station (a lane's device-fault alerts) and the back office's lane-health
page, so both name a device alike and neither shows a raw code ("paper_out"). Marked for
the ``kiosk`` catalogs, translated where shown."""

from __future__ import annotations

from collections.abc import Callable

from kiosk.i18n import N_

#: the devices a lane names in its state's ``faults`` (kiosk.domain.checkout.device_events:
#: the ``device`` command's door / printer / scanner, kiosk-core's ``scale_<name>`` and
#: ``provisioning``); ``lane`` (closed by staff) is a lane state, not a device
DEVICE_NAMES = {
    "printer": N_("Receipt printer"),
    "scanner": N_("Scanner"),
    "door": N_("Door"),
    "scale_produce": N_("Produce scale"),
    "scale_bagging": N_("Bagging scale"),
    "provisioning": N_("Lane setup"),
}
#: a device this table has no name for (a newer lane's)
OTHER_DEVICE = N_("Other device")

#: a fault's code (its detail up to a ':') → what is wrong, short
FAULT_SENTENCES = {
    # the receipt printer (kiosk_drivers.printer: PrinterStatus.fault, PrinterFault reasons;
    # kiosk.printing.escpos)
    "paper_out": N_("Out of paper"),
    "cover_open": N_("Cover open"),
    "cutter_error": N_("Paper jammed at the cutter"),
    "printer_error": N_("Reports an error"),
    "offline": N_("Offline"),
    "no_response": N_("Not answering"),   # the printer's or a scale's
    "bad_status": N_("Status unreadable"),
    "write_timeout": N_("Stopped taking data"),
    "port_busy": N_("In use by another program"),
    "port_error": N_("Connection problem"),
    "encode_error": N_("Receipt could not be prepared"),
    # the door switch (kiosk.services.gpio)
    "open": N_("Open"),
    # a scale (kiosk.bus.messages.SCALE_STATUSES that mean it is not answering)
    "bad_frame": N_("Readings unreadable"),
    # kiosk-core's provisioning check ("rejected: <why>")
    "rejected": N_("Setup file rejected"),
}
#: a fault whose code this table does not know (or none)
NOT_WORKING = N_("Not working")
#: a device and what is wrong with it, one sentence (Chinese takes a full-width colon)
DEVICE_FAULT = N_("{device}: {fault}")


def device_name(device: str, tr: Callable[[str], str]) -> str:
    """The device's name in ``tr``'s language."""
    return tr(DEVICE_NAMES.get(device, OTHER_DEVICE))


def fault_text(device: str, detail: str, tr: Callable[[str], str]) -> str:
    """"<device>: <what is wrong>" in ``tr``'s language, never the raw code."""
    code = detail.split(":", 1)[0].strip()
    return tr(DEVICE_FAULT).format(device=device_name(device, tr),
                                   fault=tr(FAULT_SENTENCES.get(code, NOT_WORKING)))
