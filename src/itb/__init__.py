"""itb: an open intrathecal baclofen (ITB) pump system in software.

For simulation, education, research and device-software engineering only.
itb does not drive a real implanted device and is not a medical device.
"""

__version__ = "0.1.0"
