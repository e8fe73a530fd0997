#!/usr/bin/env python3
"""Draws Gecko's icons (no dependencies: PNG written with zlib).

- icons/{32x32,128x128,icon}.png: the app icon, white level bars on a green
  rounded square.
- icons/tray.png, icons/tray@2x.png: the tray icon, black bars on
  transparent (a macOS *template* image: the menu bar tints it).

Run from app/src-tauri: python3 ../scripts/make-icons.py
"""
import struct
import zlib

BARS = [0.35, 0.7, 1.0, 0.55, 0.8]  # relative heights of the level bars


def png(path, size, pixel):
    rows = []
    for y in range(size):
        row = bytearray([0])
        for x in range(size):
            row += bytes(pixel(x + 0.5, y + 0.5, size))
        rows.append(bytes(row))
    raw = b"".join(rows)

    def chunk(tag, data):
        c = struct.pack(">I", len(data)) + tag + data
        return c + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def in_bar(x, y, size, margin):
    inner = size - 2 * margin
    n = len(BARS)
    slot = inner / n
    i = int((x - margin) // slot)
    if i < 0 or i >= n:
        return False
    bx = x - margin - i * slot
    if not (slot * 0.18 <= bx <= slot * 0.82):
        return False
    h = inner * BARS[i]
    return size - margin - h <= y <= size - margin


def in_rounded(x, y, size, r):
    cx = min(max(x, r), size - r)
    cy = min(max(y, r), size - r)
    return (x - cx) ** 2 + (y - cy) ** 2 <= r * r


def app_icon(x, y, size):
    if not in_rounded(x, y, size, size * 0.22):
        return (0, 0, 0, 0)
    if in_bar(x, y, size, size * 0.2):
        return (255, 255, 255, 255)
    return (47, 158, 68, 255)


def tray_icon(x, y, size):
    return (0, 0, 0, 255) if in_bar(x, y, size, size * 0.08) else (0, 0, 0, 0)


for name, size in [("32x32.png", 32), ("128x128.png", 128), ("icon.png", 512)]:
    png("icons/" + name, size, app_icon)
png("icons/tray.png", 22, tray_icon)
png("icons/tray@2x.png", 44, tray_icon)
