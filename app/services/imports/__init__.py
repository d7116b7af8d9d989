"""Imports: content people already have in Word or Excel, brought into the records it belongs to."""
