"""系统衔接 triggers: rules that map partners' events and weather warnings to actions."""
