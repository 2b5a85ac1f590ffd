"""CityLoop — digital city management (数字城管): the closed case loop and what feeds and measures it."""

__version__ = "0.1.0"
