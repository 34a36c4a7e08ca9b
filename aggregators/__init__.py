"""aggregators"""
