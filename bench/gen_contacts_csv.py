#!/usr/bin/env python3
"""Writes a contact import file (CSV with a header row) of ROWS rows to stdout, shaped like a
spreadsheet export: phone numbers written several ways, names with commas (quoted), e-mail
addresses, and a note with a quoted line break on every tenth row. Deterministic.

usage: bench/gen_contacts_csv.py ROWS
"""
import sys


def main():
    rows = int(sys.argv[1])
    out = sys.stdout
    out.write('phone_number,name,email,notes\r\n')
    forms = ['+1555%07d', '(555) %03d-%04d', '555.%03d.%04d', '1-555-%03d-%04d']
    for i in range(rows):
        form = forms[i % len(forms)]
        if form.count('%') == 1:
            phone = form % i
        else:
            phone = form % (i // 10000 % 1000, i % 10000)
        name = '"Surname%d, Given%d"' % (i, i) if i % 3 == 0 else 'Person %d' % i
        email = 'person%d@example.com' % i
        if i % 10 == 0:
            notes = '"called before\nprefers ""mornings"""'
        else:
            notes = 'imported from the spring fair list'
        out.write('%s,%s,%s,%s\r\n' % (phone, name, email, notes))


if __name__ == '__main__':
    main()
