"""The task handlers of the ``deal-contract`` process: a CRM deal closed won becomes a contract at the
provider (SpotDraft), is sent for signature, filed in the DMS once executed and synced back to the deal.

One module per task type (``deal.check-data``, ``deal.create-contract``, ``deal.send-contract``,
``deal.check-status``, ``deal.key-data``, ``deal.file-contract``, ``deal.sync-crm``); ``deal_data`` holds the
claim check (the deal, its contact and company are fetched by id inside the task that needs them and mapped
onto the template's fields), ``crm_errors`` and ``provider_calls`` turn CRM and provider failures into task
outcomes. Process variables carry ids, statuses, field names, links and the contract's key data, never a
person's name, e-mail or address.
"""
