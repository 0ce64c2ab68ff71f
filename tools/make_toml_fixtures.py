#!/usr/bin/python3
"""Writes TOML conformance fixtures for tests/test_toml.c: each case_N.toml gets case_N.json,
the document as Python's tomllib reads it (dates as ISO text)."""
import datetime
import json
import os
import tomllib

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "toml")
os.makedirs(out, exist_ok=True)

cases = [
    # Caliscope config.toml layout
    '''CreationDate = 2023-03-31T09:56:43.193358
[charuco]
columns = 4
rows = 5
board_height = 11.0
dictionary = "DICT_4X4_50"
units = "inch"
aruco_scale = 0.75
square_size_overide_cm = 5.4
inverted = false

[cam_0]
port = 0
size = [ 1280, 720,]
rotation_count = 0
error = 0.31264718547698985
matrix = [ [ 906.3541107174778, 0.0, 646.5963006545826,], [ 0.0, 907.8062047062453, 346.1939506536587,], [ 0.0, 0.0, 1.0,],]
distortions = [ -0.4184166380541047, 0.2148218346154606, -0.00044028612227569234, 0.0006318208227802815, -0.05738001004093419,]
exposure = -4
grid_count = 19
ignore = false
translation = [ -0.03441163711398458, 0.04212469542770628, 0.5107262939843073,]
rotation = [ [ 0.9999, 0.0, 0.0,], [ 0.0, 1.0, 0.0,], [ 0.0, 0.0, 1.0,],]
''',
    # strings, escapes, multi-line, literal
    'basic = "tab\\there \\"quoted\\" \\\\ \\u00e9 \\U0001F600"\n'
    "literal = 'C:\\path\\no\\escape'\n"
    'multi = """\nline one\nline two \\\n   continued"""\n'
    "multi_lit = '''\nraw \\n text'''\n"
    'empty = ""\n'
    'quote_end = """ends with quote\\""""\n',
    # numbers
    '''i1 = +99
i2 = -17
i3 = 1_000_000
hex = 0xDEAD_beef
oct = 0o755
bin = 0b1101
f1 = 3.1415
f2 = -0.01
f3 = 5e+22
f4 = 1e06
f5 = -2E-2
f6 = 6.626e-34
f7 = 224_617.445_991
zero = 0
negzero = -0.0
''',
    # tables, dotted keys, quoted keys, arrays of tables, inline tables, nested arrays
    '''title = "x" # trailing comment
[a.b.c]
d = 1
[a]
e = 2
[cameras."cam 1"]
name = "front"
[cameras.0]
name = "zero"
[dotted]
site."google.com" = true
physical.color = "orange"
physical.shape = "round"
[[fruits]]
name = "apple"
[fruits.physical]
color = "red"
[[fruits]]
name = "banana"
[inline]
point = { x = 1, y = 2 }
nested = { a = { b = [1, 2, { c = 3 }] } }
[arrays]
ints = [ 1, 2, 3 ]
mixed = [ [ 1, 2 ], ["a", "b"], [ 1.5 ] ]
multiline = [
  1, # one
  2,
  # a comment line
  3,
]
empty = []
'''
    ,
    # dates and times
    '''odt1 = 1979-05-27T07:32:00Z
odt2 = 1979-05-27T00:32:00-07:00
ldt = 1979-05-27T07:32:00.999999
ld = 1979-05-27
lt = 07:32:00
bools = [true, false]
'''
]


def jsonable(x):
    if isinstance(x, dict):
        return {k: jsonable(v) for k, v in x.items()}
    if isinstance(x, list):
        return [jsonable(v) for v in x]
    if isinstance(x, (datetime.datetime, datetime.date, datetime.time)):
        return x.isoformat().replace("+00:00", "Z")
    return x


for i, text in enumerate(cases):
    with open(os.path.join(out, f"case_{i}.toml"), "w") as fh:
        fh.write(text)
    data = tomllib.loads(text)
    with open(os.path.join(out, f"case_{i}.json"), "w") as fh:
        json.dump(jsonable(data), fh, indent=1, ensure_ascii=False)
print("wrote", len(cases), "cases to", out)
