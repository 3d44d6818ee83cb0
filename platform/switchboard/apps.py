from django.apps import AppConfig


class SwitchboardConfig(AppConfig):
    name = "switchboard"
    verbose_name = "Switchboard"

    def ready(self) -> None:
        from switchboard.translations import compile_catalogues

        compile_catalogues()
